"""The run: the driver (simulate, resume), its outputs, the run directory and the checkpoint."""
