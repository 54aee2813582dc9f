// Package web holds the hosted payment page and the checkout widget:
// templates and static files embedded with embed.FS, and no business logic.
package web
