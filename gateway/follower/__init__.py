"""The read side: a journal follower beside the gateway, off the order path."""
