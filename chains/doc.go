// Package chains is the registry of the networks and tokens Stablegate
// accepts: which chains exist, how to reach them, when a transfer on them
// counts as paid, and which token contracts are the real USDT and USDC.
//
// The registry is data, not code, so that a new EVM chain, a local devnet or a
// token is a config entry (see Config and LoadConfig) rather than a release.
// Built-in entries carry only canonical, issuer-deployed contracts: bridged
// variants such as USDC.e are different assets with different risks, and a
// watcher must never match a transfer on a symbol alone.
//
// The package also owns the two per-kind rules every other package needs:
// what a valid receiving address looks like (ValidateAddress) and how a
// wallet is asked to pay (PaymentURI: EIP-681 on EVM chains, Solana Pay on
// Solana).
package chains
