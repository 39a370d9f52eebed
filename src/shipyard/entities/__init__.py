"""Pure data: frozen, slotted dataclasses with no I/O."""
