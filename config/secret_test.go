package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestSecretNeverPrints(t *testing.T) {
	s := Secret(inlineSecret)
	holder := struct {
		Secret Secret `yaml:"secret" json:"secret"`
		Ptr    *Secret
	}{s, &s}

	mustMarshal := func(b []byte, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// jsonText marshals v without HTML escaping, as a reader sees it.
	jsonText := func(v any) string {
		t.Helper()
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSuffix(b.String(), "\n")
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "secret", s)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "secret", s)

	tests := []struct {
		name, got, want string
	}{
		{"String", s.String(), "<secret>"},
		{"GoString", s.GoString(), "<secret>"},
		{"%v", fmt.Sprintf("%v", s), "<secret>"},
		{"%s", fmt.Sprintf("%s", s), "<secret>"},
		{"%q", fmt.Sprintf("%q", s), "<secret>"},
		{"%x", fmt.Sprintf("%x", s), "<secret>"},
		{"%+v", fmt.Sprintf("%+v", s), "<secret>"},
		{"%#v", fmt.Sprintf("%#v", s), "<secret>"},
		{"%10.3s", fmt.Sprintf("%10.3s", s), "<secret>"},
		{"Sprint", fmt.Sprint(s), "<secret>"},
		{"Sprintln", fmt.Sprintln(s), "<secret>\n"},
		{"%v in a struct", fmt.Sprintf("%v", holder.Secret), "<secret>"},
		{"%+v of a struct", fmt.Sprintf("%+v", struct{ S Secret }{s}), "{S:<secret>}"},
		{"%#v of a struct", fmt.Sprintf("%#v", struct{ S Secret }{s}), "struct { S config.Secret }{S:<secret>}"},
		{"%v of a slice", fmt.Sprintf("%v", []Secret{s}), "[<secret>]"},
		{"%v of a pointer", fmt.Sprintf("%v", *holder.Ptr), "<secret>"},
		{"yaml", mustMarshal(yaml.Marshal(holder.Secret)), "<secret>\n"},
		{"yaml in a struct", mustMarshal(yaml.Marshal(struct {
			Secret Secret `yaml:"secret"`
		}{s})), "secret: <secret>\n"},
		{"json", jsonText(s), `"<secret>"`},
		{"json in a struct", jsonText(holder), `{"secret":"<secret>","Ptr":"<secret>"}`},
		{"json.Marshal", mustMarshal(json.Marshal(s)), `"\u003csecret\u003e"`},
		{"text", mustMarshal(s.MarshalText()), "<secret>"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
		if strings.Contains(tt.got, inlineSecret) {
			t.Errorf("%s shows the secret", tt.name)
		}
	}
	if strings.Contains(logged.String(), inlineSecret) || strings.Count(logged.String(), "<secret>") != 2 {
		t.Errorf("slog output shows the secret or not <secret>:\n%s", logged.String())
	}
	if s.Reveal() != inlineSecret {
		t.Errorf("Reveal() = %q, want the value", s.Reveal())
	}
}

func TestSecretUnmarshals(t *testing.T) {
	var v struct {
		S Secret `yaml:"s" json:"s"`
	}
	if err := yaml.Unmarshal([]byte("s: "+inlineSecret), &v); err != nil || v.S.Reveal() != inlineSecret {
		t.Errorf("yaml: got %v, %v", err, v.S.Reveal() == inlineSecret)
	}
	v.S = ""
	if err := json.Unmarshal([]byte(`{"s":"`+inlineSecret+`"}`), &v); err != nil || v.S.Reveal() != inlineSecret {
		t.Errorf("json: got %v, %v", err, v.S.Reveal() == inlineSecret)
	}
}
