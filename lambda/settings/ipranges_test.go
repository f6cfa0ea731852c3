package settings_test

import (
	"strings"
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// TestAWSIPRangesURLFromEnv proves the setting's default is AWS's URL,
// "off" turns the fetch off, and a URL that is not https (except to a
// loopback test server) or carries credentials is refused, naming the
// variable.
func TestAWSIPRangesURLFromEnv(t *testing.T) {
	for _, tt := range []struct {
		name, value string // value "-" means unset
		want, err   string
	}{
		{"unset is AWS's", "-", settings.DefaultAWSIPRangesURL, ""},
		{"off", "off", "", ""},
		{"another https", "https://mirror.example.com/ip-ranges.json", "https://mirror.example.com/ip-ranges.json", ""},
		{"loopback http", "http://127.0.0.1:8080/ip-ranges.json", "http://127.0.0.1:8080/ip-ranges.json", ""},
		{"localhost http", "http://localhost:8080/x", "http://localhost:8080/x", ""},
		{"public http", "http://ip-ranges.amazonaws.com/ip-ranges.json", "", "scheme \"http\""},
		{"relative", "ip-ranges.json", "", "absolute URL"},
		{"credentials", "https://u:p@example.com/x", "", "without credentials"},
		{"ftp", "ftp://example.com/x", "", "scheme \"ftp\""},
		{"empty is unset", "", settings.DefaultAWSIPRangesURL, ""},
		{"OFF is not off", "OFF", "", "absolute URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := settings.AWSIPRangesURLFromEnv(func(k string) string {
				if k == settings.EnvAWSIPRangesURL && tt.value != "-" {
					return tt.value
				}
				return ""
			})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), settings.EnvAWSIPRangesURL) {
					t.Fatalf("error %v; want one naming %s and saying %q", err, settings.EnvAWSIPRangesURL, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
