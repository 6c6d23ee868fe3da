//! NNDSVD initialisation (work in progress).
