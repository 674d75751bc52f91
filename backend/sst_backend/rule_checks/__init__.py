"""What each windowed rule last decided about a resident: fine, alert, or cannot tell."""
