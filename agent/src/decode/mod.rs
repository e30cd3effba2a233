//! Wire decoders, L2 to L4. Pure functions over byte slices.
