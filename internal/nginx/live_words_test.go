package nginx

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestContainsWord: a needle counts only as a whole word, at the start
// of the text too, and a later whole occurrence is found after a partial
// one.
func TestContainsWord(t *testing.T) {
	t.Parallel()
	assert.True(t, containsWord("127.0.0.1:8081;", "127.0.0.1:8081"))
	assert.True(t, containsWord("127.0.0.1:8081", "127.0.0.1:8081"))
	assert.False(t, containsWord("127.0.0.1:80810;", "127.0.0.1:8081"))
	assert.True(t, containsWord("app-blue-10 app-blue-1;", "app-blue-1"))
	assert.False(t, containsWord("xapp-blue-1", "app-blue-1"))
	assert.False(t, containsWord("", "app-blue-1"))
}

// TestIsNameByte: letters, digits, '_', '-' and '.' continue a name; the
// characters just outside those ranges do not.
func TestIsNameByte(t *testing.T) {
	t.Parallel()
	for _, c := range []byte("azAZ09_-.") {
		assert.True(t, isNameByte(c), "%q", c)
	}
	for _, c := range []byte("`{@[/:; \"") {
		assert.False(t, isNameByte(c), "%q", c)
	}
}
