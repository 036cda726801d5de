"""Online booking: appointment types, staff availability and the seats of each slot."""
