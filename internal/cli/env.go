package cli

import "github.com/cesub/cesub/pkg/token"

func tokenEnv() token.Env { return token.OSEnv() }
