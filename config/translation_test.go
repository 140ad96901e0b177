package config

import (
	"reflect"
	"testing"
)

// TestTranslationAttributesKey checks logging.translation.attributes: accepted from the file (issue
// #14 found `{displayName: keep}` refused as an unknown key) and from the environment, and every
// entry validated, a bad mode refused with its key path.
func TestTranslationAttributesKey(t *testing.T) {
	t.Run("accepted from the file", func(t *testing.T) {
		c, _ := mustLoad(t, minimalYAML+`
logging:
  translation:
    attributes: {displayName: keep, 'emails[type eq "work"].value': hash, title: drop}
`)
		want := map[string]string{"displayName": "keep", `emails[type eq "work"].value`: "hash", "title": "drop"}
		if got := c.Logging.Translation.Attributes; !reflect.DeepEqual(got, want) {
			t.Fatalf("attributes = %v, want %v", got, want)
		}
	})
	t.Run("accepted from the environment", func(t *testing.T) {
		c, _ := mustLoad(t, minimalYAML, "SCIMGW_LOGGING_TRANSLATION_ATTRIBUTES_DISPLAYNAME=mask")
		// The name as the variable spells it: attribute names match without case.
		if got := c.Logging.Translation.Attributes; len(got) != 1 || got["DISPLAYNAME"] != "mask" {
			t.Fatalf("attributes = %v, want DISPLAYNAME: mask", got)
		}
	})
	t.Run("bad modes refused with their key paths", func(t *testing.T) {
		ps := loadProblems(t, minimalYAML+`
logging:
  translation:
    redaction: scramble
    attributes: {displayName: show, emails: hash, name: encrypt}
`)
		wantProblems(t, ps, map[string]string{
			"logging.translation.redaction":              `must be one of keep, mask, hash, drop, not "scramble"`,
			"logging.translation.attributes.displayName": `must be one of keep, mask, hash, drop, not "show"`,
			"logging.translation.attributes.name":        `not "encrypt"`,
		})
		for _, p := range ps {
			if p.Path == "logging.translation.attributes.emails" {
				t.Fatalf("a valid entry was refused: %v", p)
			}
		}
	})
}

func TestTranslationBounds(t *testing.T) {
	c, _ := mustLoad(t, minimalYAML)
	if c.Logging.Translation.MaxValueBytes != 1024 || c.Logging.Translation.BufferBytes != 8<<20 {
		t.Fatalf("defaults: maxValueBytes %d, bufferBytes %d, want 1024 and 8 MiB",
			c.Logging.Translation.MaxValueBytes, c.Logging.Translation.BufferBytes)
	}
	ps := loadProblems(t, minimalYAML+`
logging:
  translation:
    maxValueBytes: 10
    bufferBytes: 2147483648
`)
	wantProblems(t, ps, map[string]string{
		"logging.translation.maxValueBytes": "must be 64 to 65536, not 10",
		"logging.translation.bufferBytes":   "must be 1048576 (1 MiB) to 1073741824 (1 GiB), not 2147483648",
	})
}
