"""Drop-in replacements for other libraries' APIs on pixfeed's kernels: switch a script by
changing one import. Each submodule documents where it deliberately differs (pixfeed raises a
clear error where the original was silent or crashed)."""
