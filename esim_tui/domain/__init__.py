"""The domain: destinations, plans, orders and the rules they follow. Imports no Textual."""
