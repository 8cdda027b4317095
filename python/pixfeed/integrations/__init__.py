"""Integrations with other frameworks, one module each: `pixfeed.integrations.torch` (a
PyTorch ``IterableDataset``) and `pixfeed.integrations.ray` (Ray Data reading). Each imports
its framework when it is imported itself, never before: ``import pixfeed`` (and this package)
import neither torch nor ray. The public names are re-exported by thin modules at the top of
the package (``pixfeed.torch``, ``pixfeed.ray``)."""
