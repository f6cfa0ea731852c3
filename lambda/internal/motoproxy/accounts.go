package motoproxy

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// DefaultAccount is the account moto acts in for credentials it did not
// issue (the harness's own "testing" keys).
const DefaultAccount = "123456789012"

// Accounts tells which account and region each request acts in, so that
// hooks can target one account of a simulated organization. Moto decides
// the account of a request from its access key: keys that moto's
// sts:AssumeRole issued act in the role's account, any other key in
// DefaultAccount. Accounts learns the same mapping from the AssumeRole
// answers passing through the proxy (its Hook must see them: add it before
// the hooks that use Of or ForAccount).
//
// It also plays the part of STS that moto leaves out: moto's AssumeRole
// succeeds for any role ARN, existing or not (moto/sts/models.py:
// "the role does not need to exist"), where STS refuses with AccessDenied
// when the role does not exist or its trust policy does not admit the
// caller. With RequireRoles, the hook answers AssumeRole of a role that
// does not exist in its account with STS's AccessDenied, and Deny makes an
// account refuse every AssumeRole (what an SCP denying sts:AssumeRole, or
// a spoke whose StackSet instance is still deploying, looks like).
type Accounts struct {
	moto string

	mu      sync.Mutex
	keys    map[string]string // access key id -> account
	require bool
	denied  map[string]string // account -> reason
	client  *http.Client
}

// NewAccounts returns an Accounts for the moto server at motoURL (where it
// looks roles up when RequireRoles is set).
func NewAccounts(motoURL string) *Accounts {
	return &Accounts{
		moto: strings.TrimRight(motoURL, "/"), keys: map[string]string{}, denied: map[string]string{},
		client: &http.Client{Timeout: 10 * time.Second},
	}
}

// RequireRoles makes AssumeRole of a role that does not exist fail as STS
// fails it.
func (a *Accounts) RequireRoles(on bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.require = on
}

// Deny makes every AssumeRole into account fail with AccessDenied, naming
// reason in the message; an empty reason lifts the denial.
func (a *Accounts) Deny(account, reason string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if reason == "" {
		delete(a.denied, account)
		return
	}
	a.denied[account] = reason
}

var (
	credentialRE = regexp.MustCompile(`Credential=([^/,\s]+)/[^/]+/([^/]+)/`)
	accessKeyRE  = regexp.MustCompile(`<AccessKeyId>([^<]+)</AccessKeyId>`)
	roleARNRE    = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$`)
)

// Of returns the account and region a request acts in: the account moto
// will act in for its access key, and the region of its signature.
func (a *Accounts) Of(r *http.Request) (account, region string) {
	m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return DefaultAccount, ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if acct, ok := a.keys[m[1]]; ok {
		return acct, m[2]
	}
	return DefaultAccount, m[2]
}

// ForAccount returns a Hook that runs h only on requests acting in
// account (and in region, when region is not empty).
func (a *Accounts) ForAccount(account, region string, h Hook) Hook {
	return func(w http.ResponseWriter, r *http.Request, c Call) bool {
		acct, reg := a.Of(r)
		if acct != account || (region != "" && reg != region) {
			return false
		}
		return h(w, r, c)
	}
}

// Hook refuses the AssumeRole calls STS would refuse, and records the
// account of the keys the others return.
func (a *Accounts) Hook(w http.ResponseWriter, r *http.Request, c Call) bool {
	if c.Action != "AssumeRole" || c.Form == nil {
		return false
	}
	roleARN := c.Form.Get("RoleArn")
	m := roleARNRE.FindStringSubmatch(roleARN)
	if m == nil {
		apiError{status: http.StatusBadRequest, code: "ValidationError", message: fmt.Sprintf("%q is not a valid role ARN", roleARN)}.write(w, AWSQuery, "motoproxy")
		return true
	}
	account, role := m[1], m[2]
	if reason := a.refusal(r.Context(), account, role); reason != "" {
		caller, _ := a.Of(r)
		apiError{status: http.StatusForbidden, code: "AccessDenied", message: fmt.Sprintf(
			"User: arn:aws:sts::%s:assumed-role/caller is not authorized to perform: sts:AssumeRole on resource: %s (%s)", caller, roleARN, reason),
		}.write(w, AWSQuery, "motoproxy")
		return true
	}
	rec := httptest.NewRecorder()
	c.forward(rec)
	if k := accessKeyRE.FindSubmatch(rec.Body.Bytes()); k != nil && rec.Code == http.StatusOK {
		a.mu.Lock()
		a.keys[string(k[1])] = account
		a.mu.Unlock()
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
	return true
}

// refusal is why STS would refuse to assume role in account, or "".
func (a *Accounts) refusal(ctx context.Context, account, role string) string {
	a.mu.Lock()
	reason, require := a.denied[account], a.require
	a.mu.Unlock()
	if reason != "" {
		return reason
	}
	if !require {
		return ""
	}
	exists, err := a.roleExists(ctx, account, role)
	switch {
	case err != nil:
		return "looking the role up in moto failed: " + err.Error()
	case !exists:
		return "the role does not exist"
	}
	return ""
}

// roleExists asks moto, acting in account (its x-moto-account-id header),
// for the role.
func (a *Accounts) roleExists(ctx context.Context, account, role string) (bool, error) {
	body := url.Values{"Action": {"GetRole"}, "Version": {"2010-05-08"}, "RoleName": {role}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.moto+"/", strings.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0")
	req.Header.Set("x-moto-account-id", account)
	resp, err := a.client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound, http.StatusBadRequest:
		return false, nil
	}
	return false, fmt.Errorf("GetRole %s in %s answered HTTP %d", role, account, resp.StatusCode)
}
