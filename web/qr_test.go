package web_test

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"regexp"
	"strconv"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/stablegate/stablegate/web"
)

// decode reads the QR code in img with an independent decoder.
func decode(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		t.Fatalf("decode QR code: %v", err)
	}
	return res.GetText()
}

// rasterize draws a QRSVG path (unit squares "Mx yhNv1h-Nz") at scale.
func rasterize(t *testing.T, svg []byte, scale int) image.Image {
	t.Helper()
	m := regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`).FindSubmatch(svg)
	if m == nil {
		t.Fatalf("no viewBox in %s", svg)
	}
	n, _ := strconv.Atoi(string(m[1]))
	img := image.NewGray(image.Rect(0, 0, n*scale, n*scale))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	runs := regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`).FindAllSubmatch(svg, -1)
	if len(runs) == 0 {
		t.Fatal("no modules in the SVG")
	}
	for _, r := range runs {
		x, _ := strconv.Atoi(string(r[1]))
		y, _ := strconv.Atoi(string(r[2]))
		w, _ := strconv.Atoi(string(r[3]))
		draw.Draw(img, image.Rect(x*scale, y*scale, (x+w)*scale, (y+1)*scale), image.NewUniform(color.Black), image.Point{}, draw.Src)
	}
	return img
}

func TestQRRoundTrip(t *testing.T) {
	t.Parallel()
	for _, text := range []string{
		"ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7@1/transfer?address=0x52908400098527886E0F7030069857D2E4169EE7&uint256=50000120",
		"ethereum:0x55d398326f99059fF775485246999027B3197955@56/transfer?address=0x52908400098527886E0F7030069857D2E4169EE7&uint256=50000120000000000000",
		"solana:9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM?amount=50.00012&spl-token=EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v&reference=82ZJ7nbGpixjeDCmEhUcmwXYfvurzAgGdtSMuHnUgyny&label=Demo%20Store&message=Order%201042",
		"https://pay.example/l/spring-sale",
	} {
		png1, err := web.QRPNG(text, 256)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(png1))
		if err != nil {
			t.Fatal(err)
		}
		if got := decode(t, img); got != text {
			t.Errorf("PNG decodes to %q, want %q", got, text)
		}
		svg, err := web.QRSVG(text)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(svg, []byte("<script")) || bytes.Contains(svg, []byte("href")) {
			t.Errorf("SVG carries a script or a link: %s", svg)
		}
		if got := decode(t, rasterize(t, svg, 8)); got != text {
			t.Errorf("SVG decodes to %q, want %q", got, text)
		}
	}
}
