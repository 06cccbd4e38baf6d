package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// The duty-room web console: plain HTML, CSS and JavaScript modules with a
// vendored chart library, embedded in the binary so the hub serves it itself
// and nothing needs building.
//
//go:embed web
var webFiles embed.FS

// webCSP allows the page to load only its own files and talk only to its own
// origin (CSP 3 'self' covers the same-origin WebSocket): no inline scripts
// or styles, no frames, no plugins.
const webCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; media-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// webTypes lists the files the console serves under /assets/, by extension;
// anything else in web/ (READMEs, licences) is not served.
var webTypes = map[string]string{
	".js":    "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".woff2": "font/woff2",
}

// webAsset is one embedded file, ready to serve.
type webAsset struct {
	body  []byte
	etag  string
	ctype string
}

// loadWeb reads the embedded files once: index.html and the servable assets,
// each with an ETag from its content.
var loadWeb = sync.OnceValues(func() (*webAsset, map[string]*webAsset) {
	asset := func(name, ctype string) *webAsset {
		b, err := webFiles.ReadFile(name)
		if err != nil {
			panic("console: embedded web file " + name + ": " + err.Error())
		}
		sum := sha256.Sum256(b)
		return &webAsset{body: b, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`, ctype: ctype}
	}
	index := asset("web/index.html", "text/html; charset=utf-8")
	assets := map[string]*webAsset{}
	err := fs.WalkDir(webFiles, "web", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ctype, ok := webTypes[path.Ext(name)]; ok {
			assets[strings.TrimPrefix(name, "web/")] = asset(name, ctype)
		}
		return nil
	})
	if err != nil {
		panic("console: walk embedded web files: " + err.Error())
	}
	return index, assets
})

// webHandler serves the console page at / and its files under /assets/.
// Every response is revalidated (Cache-Control: no-cache with a content
// ETag), so after an upgrade a browser never runs old and new scripts
// together, while an unchanged file costs only a 304.
func webHandler() http.Handler {
	index, assets := loadWeb()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", webCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		var a *webAsset
		if r.URL.Path == "/" {
			a = index
		} else if name, ok := strings.CutPrefix(r.URL.Path, "/assets/"); ok {
			a = assets[name]
		}
		if a == nil {
			http.Error(w, "404 page not found", http.StatusNotFound)
			return
		}
		h.Set("Content-Type", a.ctype)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
}
