package nginx

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

func TestParseLive(t *testing.T) {
	t.Parallel()
	blue, green := goldenData()
	upstream := MustParseTemplate(UpstreamTemplate("app"))
	tests := []struct {
		name    string
		include string
		tmpl    *Template
		want    color.Color
		how     string
		wantErr error
		errText string
	}{
		{name: "absent", include: "", want: color.None, how: "the include is absent or empty"},
		{name: "blank", include: " \n\t\n", want: color.None, how: "the include is absent or empty"},
		{name: "only comments", include: "# nothing here\n", want: color.None, how: "the include has only comments"},
		{name: "seed's include for blue", include: readTestdata(t, "seed/service-url.inc"),
			want: color.Blue, how: "matches blue's rendering"},
		{name: "seed's include for green, re-indented and commented", include: "  set  $service_url   http://127.0.0.1:8082 ;  # green\n",
			want: color.Green, how: "matches green's rendering"},
		{name: "marker", include: "# bluegreen: color=green deploy=7 (managed by bluegreen; edits are overwritten)\nset $service_url http://127.0.0.1:8082;\n",
			want: color.Green, how: "marker"},
		{name: "marker wins when the ports changed since", include: "# bluegreen: color=green deploy=7\nset $service_url http://127.0.0.1:9002;\n",
			want: color.Green, how: "marker"},
		{name: "marker contradicted by a hand edit", include: "# bluegreen: color=green deploy=7\nset $service_url http://127.0.0.1:8081;\n",
			wantErr: ErrLiveMismatch, errText: "the marker says green but the include matches blue's rendering"},
		{name: "marker with an unknown color", include: "# bluegreen: color=red\n", errText: `unknown color "red"`},
		{name: "hand-written upstream block", include: "upstream app {\n  server 127.0.0.1:8081 max_fails=3;\n}\n",
			want: color.Blue, how: "mentions 127.0.0.1:8081"},
		{name: "upstream template's own rendering without marker", tmpl: upstream,
			include: "upstream app {\n    server 127.0.0.1:8082;\n    keepalive 16;\n}\n", want: color.Green, how: "matches green's rendering"},
		{name: "container name", include: "set $service_url http://app-green-web-1:8080;\n",
			want: color.Green, how: "mentions app-green-web-1"},
		{name: "container ip and port", include: "set $service_url http://172.18.0.2:8080;\n",
			want: color.Blue, how: "mentions 172.18.0.2:8080"},
		{name: "longer port is not a match", include: "set $service_url http://127.0.0.1:80810;\n",
			want: color.None, how: "names neither blue (127.0.0.1:8081 or app-blue-web-1 or 172.18.0.2:8080) nor green (127.0.0.1:8082 or app-green-web-1 or 172.18.0.3:8080)"},
		{name: "address only in a comment", include: "# was 127.0.0.1:8081\nset $service_url http://127.0.0.1:9000;\n",
			want: color.None, how: "names neither blue (127.0.0.1:8081 or app-blue-web-1 or 172.18.0.2:8080) nor green (127.0.0.1:8082 or app-green-web-1 or 172.18.0.3:8080)"},
		{name: "both colors", include: "upstream app { server 127.0.0.1:8081; server 127.0.0.1:8082; }\n",
			want: color.None, how: "mentions both blue's 127.0.0.1:8081 and green's 127.0.0.1:8082", wantErr: ErrAmbiguousInclude},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var include []byte
			if tt.include != "" {
				include = []byte(tt.include)
			}
			got, how, err := ParseLive(include, blue, green, tt.tmpl)
			if tt.wantErr != nil || tt.errText != "" {
				require.Error(t, err)
				if tt.wantErr != nil {
					assert.ErrorIs(t, err, tt.wantErr)
				}
				assert.Contains(t, err.Error(), tt.errText)
				assert.Equal(t, color.None, got)
				assert.Equal(t, tt.how, how)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.how, how)
		})
	}
}

func TestParseLiveRenderError(t *testing.T) {
	t.Parallel()
	blue, green := goldenData()
	blue.Color = "purple"
	_, _, err := ParseLive([]byte("set $service_url http://127.0.0.1:8081;\n"), blue, green, nil)
	assert.ErrorIs(t, err, ErrInvalidTemplateData)
}
