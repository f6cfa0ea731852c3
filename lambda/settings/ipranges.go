package settings

import (
	"fmt"
	"net"
	"net/url"
)

// The summarizer's source of AWS's published IP ranges: at cold
// start it fetches this document to tell AWS's addresses apart, and falls
// back to the copy built into the binary when the fetch fails or is off.
const (
	// EnvAWSIPRangesURL is the environment variable of the summarizer.
	EnvAWSIPRangesURL = "AWS_IP_RANGES_URL"
	// DefaultAWSIPRangesURL is where AWS publishes the document.
	DefaultAWSIPRangesURL = "https://ip-ranges.amazonaws.com/ip-ranges.json"
	// AWSIPRangesOff turns the fetch off: the built-in copy is used, and a
	// cold start spends no time on the network (a function in a VPC
	// without egress would otherwise wait for the fetch's timeout).
	AWSIPRangesOff = "off"
)

// ValidateAWSIPRangesURL checks the setting: "off", or an absolute https
// URL. Plain http is accepted for loopback hosts only (a local test
// server): the document decides which destinations count as AWS's, so it
// must not be open to anyone on the path.
func ValidateAWSIPRangesURL(s string) error {
	if s == AWSIPRangesOff {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %w", err)
	}
	if u.Host == "" || u.User != nil {
		return fmt.Errorf("want an absolute URL without credentials, or %q", AWSIPRangesOff)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("scheme %q: want https (http only to a loopback host), or %q", u.Scheme, AWSIPRangesOff)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// AWSIPRangesURLFromEnv reads EnvAWSIPRangesURL: the URL to fetch at cold
// start, or "" when the setting is "off". getenv is os.Getenv outside
// tests.
func AWSIPRangesURLFromEnv(getenv func(string) string) (string, error) {
	r := NewReader("", Getenv(getenv))
	u := r.String(EnvAWSIPRangesURL, DefaultAWSIPRangesURL, ValidateAWSIPRangesURL)
	if err := r.Err(); err != nil {
		return "", fmt.Errorf("AWS IP ranges configuration from the environment: %w", err)
	}
	if u == AWSIPRangesOff {
		return "", nil
	}
	return u, nil
}
