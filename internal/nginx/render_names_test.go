package nginx

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestVarName: letters, digits and '_' stay, each character just outside
// those ranges becomes '_', the color suffix goes, and the name is cut to
// 40 characters.
func TestVarName(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "azAZ09_", varName("azAZ09_"))
	assert.Equal(t, "a_b_c_d_e_f_g", varName("a`b{c@d[e/f:g"))
	assert.Equal(t, "my_app", varName("my.app-green"))
	assert.Equal(t, "app", varName("-blue"))
	assert.Equal(t, "app", varName(""))
	assert.Equal(t, strings.Repeat("x", 40), varName(strings.Repeat("x", 41)))
	assert.Equal(t, strings.Repeat("x", 40), varName(strings.Repeat("x", 40)))
}
