package wiring

import (
	"testing"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/gateway/translog"
	"github.com/scim-gateway/scim-gateway/upstream"
)

// TestUpstreamConfig: the portal client's options carry every key of the file's upstream block.
func TestUpstreamConfig(t *testing.T) {
	var cfg config.Config
	cfg.ApplyDefaults()
	cfg.Upstream.BaseURL = "https://portal.example"
	cfg.Upstream.Auth.ClientSecret = "s"
	cfg.Upstream.Endpoints = map[string]config.Endpoint{config.OpDeleteUser: {Enabled: new(bool)}, config.OpGetUser: {Path: "/u/{idUser}"}}
	u := UpstreamConfig(cfg.Upstream)
	if u.BaseURL != cfg.Upstream.BaseURL || u.Auth.ClientSecret != "s" || u.Auth.TokenURL != cfg.Upstream.Auth.TokenURL ||
		u.Timeout != cfg.Upstream.Timeout || u.Retry.MaxAttempts != cfg.Upstream.Retry.MaxAttempts ||
		u.Breaker.OpenTimeout != cfg.Upstream.Breaker.OpenTimeout || u.MaxBody != cfg.Upstream.MaxBody {
		t.Fatalf("upstreamConfig = %+v", u)
	}
	if e := upstream.ResolveEndpoint(u, upstream.OpDeleteUser); !e.Disabled || e.Method != "DELETE" || e.Path != upstream.DefaultEndpoints[upstream.OpDeleteUser].Path {
		t.Fatalf("deleteUser = %+v", e)
	}
	if e := upstream.ResolveEndpoint(u, upstream.OpGetUser); e.Disabled || e.Method != "GET" || e.Path != "/u/{idUser}" {
		t.Fatalf("getUser = %+v", e)
	}
}

// TestTranslationBoundsAgree: the ranges config accepts for the translation log's bounds are the ones
// the logger enforces, and so are the defaults (config is a leaf and cannot import translog).
func TestTranslationBoundsAgree(t *testing.T) {
	pairs := []struct {
		name        string
		config, log int
	}{
		{"min bufferBytes", config.MinTranslationBufferBytes, translog.MinBufferBytes},
		{"max bufferBytes", config.MaxTranslationBufferBytes, translog.MaxBufferBytes},
		{"default bufferBytes", config.DefaultTranslationBufferBytes, translog.DefaultBufferBytes},
		{"min maxValueBytes", config.MinTranslationMaxValueBytes, translog.MinMaxValueBytes},
		{"max maxValueBytes", config.MaxTranslationMaxValueBytes, translog.MaxMaxValueBytes},
		{"default maxValueBytes", config.DefaultTranslationMaxValueBytes, translog.DefaultMaxValueBytes},
	}
	for _, p := range pairs {
		if p.config != p.log {
			t.Errorf("%s: config %d, translation logger %d", p.name, p.config, p.log)
		}
	}
}
