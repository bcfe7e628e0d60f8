package supervisor

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed web
var webFiles embed.FS

// webHandler serves the status page and its assets, all embedded: the
// page needs no network beyond the supervisor itself.
func webHandler() http.Handler {
	sub, _ := fs.Sub(webFiles, "web")
	return http.FileServerFS(sub)
}
