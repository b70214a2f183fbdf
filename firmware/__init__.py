"""The clock program: controller, time (SNTP, time base, zones), config, the
boot (main.py) and the asyncio shell (clock.py). `deploy.py` is only the
fixed name of the laptop's deploy command (tools/deploy.py)."""

VERSION = "0.2.0"  # pyproject.toml's; the page and MQTT show it
