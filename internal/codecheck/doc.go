// Package codecheck holds tests of the source tree itself: rules of the house that a
// linter does not check, enforced so that CI keeps them. It has no code.
package codecheck
