"""The clock program: controller, time (SNTP, time base, zones), config and
main.py for the device; host tools that serve it (deploy) live here too."""
