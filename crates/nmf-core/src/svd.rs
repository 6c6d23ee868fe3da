//! Truncated SVDs for the NNDSVD initialisation (work in progress).
