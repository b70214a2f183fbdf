"""Everything that touches a pin: motor driver, button, LED, boards, Wi-Fi."""
