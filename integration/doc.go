// Package integration holds cesub's tests against the real servers of the
// local testbed (scripts/testbed): the project's token issuer, Debian's A-REX
// 6.17 and Debian's oidc-agent. They run under CI=true and skip elsewhere only
// when the machine cannot run the testbed (not root, not Debian).
package integration
