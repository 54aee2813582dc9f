// Package solana watches Solana for stablecoin payments to merchants and
// builds the transactions customers' wallets sign to make them.
//
// A payment on Solana is an SPL token transfer into the merchant's token
// account: the associated token account (AssociatedTokenAccount) of the
// merchant's wallet for the mint, under the classic SPL Token program or
// Token-2022 (TokenProgramID). The watcher finds candidate transactions
// with solana-go's RPC client and reads each with getTransaction in
// jsonParsed encoding. ParseTransaction turns that answer into the
// chains.Transfer values the rest of Stablegate understands: every
// transfer, transferChecked and transferCheckedWithFee of a registry mint,
// in outer and inner (CPI) instructions alike, credited to the owner of the
// receiving token account, with amounts in base units and never through a
// float.
//
// PaymentTx builds the other direction: the unsigned transaction behind the
// hosted page's "pay with wallet" button, in the shape of a Solana Pay
// transaction request, so the wallet only has to sign it.
package solana
