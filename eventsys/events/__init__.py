"""Events, the organizations and people who take part in them."""
