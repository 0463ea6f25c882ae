"""Schools, groups (classes, year groups, carts) and devices as admins see and change them."""
