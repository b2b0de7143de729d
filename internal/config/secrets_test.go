package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		inputs map[string]string
		want   []string
	}{
		{name: "none", inputs: nil, want: nil},
		{name: "user only", inputs: map[string]string{"INPUT_REGISTRY-USERNAME": "bob"}, want: nil},
		{name: "password only", inputs: map[string]string{"INPUT_REGISTRY-PASSWORD": " s3cret\n"}, want: []string{"s3cret"}},
		{
			name:   "user and password",
			inputs: map[string]string{"INPUT_REGISTRY-USERNAME": "bob", "INPUT_REGISTRY-PASSWORD": "s3cret"},
			// base64("bob:s3cret"), as in "Authorization: Basic Ym9iOnMzY3JldA==".
			want: []string{"s3cret", "Ym9iOnMzY3JldA=="},
		},
		{
			name:   "fleet keys",
			inputs: map[string]string{"INPUT_SSH-PRIVATE-KEY": "-----BEGIN KEY-----\nabc\n-----END KEY-----\n", "INPUT_DOCKER-TLS-KEY": "tlskey", "INPUT_DOCKER-TLS-CERT": "public"},
			want:   []string{"-----BEGIN KEY-----\nabc\n-----END KEY-----", "tlskey"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, Secrets(env(tt.inputs)))
		})
	}
}
