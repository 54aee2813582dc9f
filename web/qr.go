package web

import (
	"bytes"
	"fmt"

	"rsc.io/qr"
)

// quietZone is the blank margin around a QR code, in modules, that the
// standard asks for.
const quietZone = 4

// QRPNG returns text as a QR code PNG at least size pixels wide, with
// medium error correction, which phone cameras read from a screen or a
// poster. Every module is a whole number of pixels, so no edge blurs.
func QRPNG(text string, size int) ([]byte, error) {
	c, err := qr.Encode(text, qr.M)
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	n := c.Size + 2*quietZone
	c.Scale = max(1, (size+n-1)/n)
	return c.PNG(), nil
}

// QRSVG returns text as a QR code SVG: one path of unit squares on a white
// background with the quiet zone included, so it scales to any size
// without blurring. It holds no script and no external reference.
func QRSVG(text string) ([]byte, error) {
	c, err := qr.Encode(text, qr.M)
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	n := c.Size + 2*quietZone
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges" role="img" aria-label="QR code">`, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y := 0; y < c.Size; y++ {
		for x := 0; x < c.Size; x++ {
			if !c.Black(x, y) {
				continue
			}
			run := 1
			for x+run < c.Size && c.Black(x+run, y) {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x+quietZone, y+quietZone, run, run)
			x += run - 1
		}
	}
	b.WriteString(`"/></svg>`)
	return b.Bytes(), nil
}
