"""Few-shot transfer: the paper's protocol (splits, three heads) on frozen features."""
