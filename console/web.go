package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"maps"
	"net/http"
	"path"
	"slices"
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
	".js":          "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".woff2":       "font/woff2",
	".webmanifest": "application/manifest+json",
}

// Files served at the root rather than under /assets/: the service worker
// (its scope is the path it is served from) and the web app manifest.
const (
	swPath       = "sw.js"
	manifestPath = "manifest.webmanifest"
)

// webAsset is one embedded file, ready to serve.
type webAsset struct {
	body  []byte
	etag  string
	ctype string
}

// webFilesLoaded are the embedded files, ready to serve: index.html, the
// assets under /assets/ by name, and the files served at the root.
type webFilesLoaded struct {
	index  *webAsset
	assets map[string]*webAsset
	root   map[string]*webAsset // "/sw.js", "/manifest.webmanifest"
}

func newAsset(b []byte, ctype string) *webAsset {
	sum := sha256.Sum256(b)
	return &webAsset{body: b, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`, ctype: ctype}
}

// loadWeb reads the embedded files once, each with an ETag from its
// content, and fills in the service worker: the shell it keeps is every
// asset and the page, and its version changes with any of them.
var loadWeb = sync.OnceValue(func() *webFilesLoaded {
	read := func(name string) []byte {
		b, err := webFiles.ReadFile(name)
		if err != nil {
			panic("console: embedded web file " + name + ": " + err.Error())
		}
		return b
	}
	w := &webFilesLoaded{
		index:  newAsset(read("web/index.html"), "text/html; charset=utf-8"),
		assets: map[string]*webAsset{},
		root:   map[string]*webAsset{},
	}
	err := fs.WalkDir(webFiles, "web", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := strings.TrimPrefix(name, "web/")
		if ctype, ok := webTypes[path.Ext(name)]; ok && rel != swPath && rel != manifestPath {
			w.assets[rel] = newAsset(read(name), ctype)
		}
		return nil
	})
	if err != nil {
		panic("console: walk embedded web files: " + err.Error())
	}
	w.root["/"+manifestPath] = newAsset(read("web/"+manifestPath), webTypes[".webmanifest"])
	shell := []string{"/", "/" + manifestPath}
	version := sha256.New()
	version.Write(w.index.body)
	for _, name := range slices.Sorted(maps.Keys(w.assets)) {
		shell = append(shell, "/assets/"+name)
		version.Write([]byte(w.assets[name].etag))
	}
	list, err := json.Marshal(shell)
	if err != nil {
		panic("console: service worker shell: " + err.Error())
	}
	sw := strings.Replace(string(read("web/"+swPath)), "__SHELL__", string(list), 1)
	sw = strings.Replace(sw, "__VERSION__", "shell-"+base64.RawURLEncoding.EncodeToString(version.Sum(nil)[:12]), 1)
	w.root["/"+swPath] = newAsset([]byte(sw), webTypes[".js"])
	return w
})

// webHandler serves the console page at / and its files under /assets/.
// Every response is revalidated (Cache-Control: no-cache with a content
// ETag), so after an upgrade a browser never runs old and new scripts
// together, while an unchanged file costs only a 304.
func webHandler() http.Handler {
	files := loadWeb()
	index, assets := files.index, files.assets
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
		} else {
			a = files.root[r.URL.Path]
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
