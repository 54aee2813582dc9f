package chains

import sg "github.com/stablegate/stablegate"

// Heights is what a watcher knows of a chain's tip at one moment: the
// highest scanned block and, where the node has them, the "safe" and
// "finalized" block tags. Every height is at most Head, so a sink never
// settles a block the watcher has not scanned and checked for reorgs.
type Heights struct {
	Head      uint64
	Safe      uint64
	Finalized uint64
	// HasSafe and HasFinalized are false when no endpoint knows the tag;
	// policies waiting for it then confirm by depth.
	HasSafe, HasFinalized bool
}

// Confirmed returns the highest height a payment may be in to satisfy p.
//
// Blocks is a number of confirmations, the transfer's own block counting as
// the first (the registry's "an accepted block is final, so one block is
// enough" on Avalanche): with N blocks, a transfer at height h is confirmed
// once the head reaches h+N-1. For the "finalized" and "safe" modes Blocks
// is the same depth, used when the node does not know the tag; with no
// Blocks either, nothing is confirmed and 0 is returned.
func (h Heights) Confirmed(p ConfirmationPolicy) uint64 {
	byDepth := uint64(0)
	if p.Blocks > 0 && h.Head+1 >= p.Blocks {
		byDepth = h.Head + 1 - p.Blocks
	}
	switch {
	case p.Mode == ConfirmConfirmed:
		// A Solana watcher reports transfers at the confirmed commitment
		// and its head is the confirmed slot.
		return h.Head
	case p.Mode == ConfirmFinalized && h.HasFinalized:
		return min(h.Finalized, h.Head)
	case p.Mode == ConfirmSafe && h.HasSafe:
		return min(h.Safe, h.Head)
	}
	return byDepth
}

// maxConfirmationBlocks bounds a merchant's depth: a day of Ethereum blocks
// and more than enough anywhere, so a typo cannot park payments for weeks.
const maxConfirmationBlocks = 10_000

// Policy returns the confirmation policy of payments to a merchant with the
// given settings on c: the merchant's override for the chain where it has
// one, else the chain's default. An override of "finalized" or "safe"
// without Blocks keeps the chain's fallback depth.
func (c *Chain) Policy(s sg.MerchantSettings) ConfirmationPolicy {
	o, ok := s.Confirmations[c.ID]
	if !ok {
		return c.Confirmation
	}
	p := ConfirmationPolicy{Mode: o.Mode, Blocks: o.Blocks}
	if p.Mode != ConfirmBlocks && p.Blocks == 0 {
		p.Blocks = c.Confirmation.Blocks
	}
	return p
}

// ValidateConfirmations checks a merchant's confirmation overrides against
// the registry: every chain exists and every policy makes sense there.
func (r *Registry) ValidateConfirmations(s sg.MerchantSettings) error {
	for id, o := range s.Confirmations {
		c, ok := r.Chain(id)
		if !ok {
			return sg.Errorf(sg.EINVALID, "chain_unknown", "settings.confirmations", "chain %q is not enabled on this gateway", id)
		}
		p := ConfirmationPolicy{Mode: o.Mode, Blocks: o.Blocks}
		if err := p.Validate(c.Kind); err != nil {
			return sg.Errorf(sg.EINVALID, "confirmation_invalid", "settings.confirmations."+id, "%s", sg.ErrorOf(err).Message)
		}
		if p.Blocks > maxConfirmationBlocks {
			return sg.Errorf(sg.EINVALID, "confirmation_invalid", "settings.confirmations."+id, "blocks must be at most %d", maxConfirmationBlocks)
		}
	}
	return nil
}
