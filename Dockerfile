# Stablegate gateway image: a static binary on a minimal base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/stablegate ./cmd/stablegate

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/stablegate /usr/local/bin/stablegate
USER nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/stablegate"]
CMD ["serve"]
