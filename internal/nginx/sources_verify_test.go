package nginx

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestMarkerSourcesVerifyAddress: the address verify-url names is a
// marker source; a URL without a host adds none.
func TestMarkerSourcesVerifyAddress(t *testing.T) {
	t.Parallel()
	assert.Contains(t, MarkerSources(context.Background(), "https://203.0.113.7:8443/health"), "203.0.113.7")
	assert.NotContains(t, MarkerSources(context.Background(), "/health"), "invalid IP")
}
