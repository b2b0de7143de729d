package runnerlog

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCommands(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		log  string
		want []Command
	}{
		{"plain text", "hello\nworld\n", nil},
		{"v2 at line start", "::error::boom\n", []Command{{Name: "error", Data: "boom"}}},
		{"v2 after leading space", "  \t::debug::x", []Command{{Name: "debug", Data: "x"}}},
		{"v2 after a Unicode space", "\u3000::debug::x", []Command{{Name: "debug", Data: "x"}}},
		{"v2 not at line start", "say ::error::boom", nil},
		{"v2 needs the second ::", "::error boom", nil},
		{"empty name", "::::x", nil},
		{"v2 properties and escapes", "::error title=a%3Ab%2Cc,file=x.go::line1%0Aline2%25",
			[]Command{{Name: "error", Properties: map[string]string{"title": "a:b,c", "file": "x.go"}, Data: "line1\nline2%"}}},
		{"property without value is dropped", "::warning title=,=x::w",
			[]Command{{Name: "warning", Data: "w"}}},
		{"split at CR", "progress 10%\r::set-output name=a::b", []Command{{Name: "set-output", Properties: map[string]string{"name": "a"}, Data: "b"}}},
		{"CRLF", "a\r\n::endgroup::\r\n", []Command{{Name: "endgroup"}}},
		{"v1 anywhere", "some text ##[error]x", []Command{{Name: "error", Data: "x", V1: true}}},
		{"v1 properties", "##[warning file=a%3Bb;line=3]w%5D", []Command{{Name: "warning", Properties: map[string]string{"file": "a;b", "line": "3"}, Data: "w]", V1: true}}},
		{"v1 needs ]", "##[error x", nil},
		{"unknown v2 name, then v1 on the same line", "::foo::##[error]x", []Command{{Name: "foo", Data: "##[error]x"}, {Name: "error", Data: "x", V1: true}}},
		{"known v2 name hides v1", "::debug::##[error]x", []Command{{Name: "debug", Data: "##[error]x"}}},
		{"stop and resume", "::stop-commands::tok\n::error::hidden\n##[warning]hidden\n::stop-commands::other\n::TOK::\n::error::seen",
			[]Command{{Name: "stop-commands", Data: "tok"}, {Name: "TOK"}, {Name: "error", Data: "seen"}}},
		{"resume as v1", "::stop-commands::tok\nx ##[tok]\n::notice::n", []Command{{Name: "stop-commands", Data: "tok"}, {Name: "tok", V1: true}, {Name: "notice", Data: "n"}}},
		{"resume behind an unknown v2", "::stop-commands::tok\n::foo::##[tok]", []Command{{Name: "stop-commands", Data: "tok"}, {Name: "tok", V1: true}}},
		{"empty token never resumes", "::stop-commands::\n::::\n::error::x", []Command{{Name: "stop-commands"}}},
		{"never resumed", "::stop-commands::tok\n::error::x", []Command{{Name: "stop-commands", Data: "tok"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Commands(tt.log)
			for i := range got {
				got[i].Line = ""
				if len(got[i].Properties) == 0 {
					got[i].Properties = nil
				}
			}
			require.Equal(t, tt.want, got)
		})
	}
}
