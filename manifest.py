# The clock's device code, frozen into a MicroPython image: its bytecode then
# runs from flash instead of being copied into the heap (hardware/README.md,
# "Your own image"). MicroPython's standard manifest form: include it from
# a board's manifest (`include("/path/to/irregular-clock/manifest.py")`),
# or pass it as FROZEN_MANIFEST. Laptop-only files stay out.
metadata(description="The irregular clock: modes, firmware and hardware drivers", version="0.1.0")

include("$(MPY_DIR)/extmod/asyncio")
package("modes")
package("hardware")
# tools/deploy.py's HOST_ONLY, the laptop's files in firmware/ (a test checks they agree).
HOST_ONLY = ("deploy.py", "sntp_cli.py", "memstore.py", "wrapping.py")
package("firmware", files=[name for name in sorted(__import__("os").listdir("firmware")) if name.endswith(".py") and name not in HOST_ONLY])
