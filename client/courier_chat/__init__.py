"""`make chat`: an interactive terminal chat over the Courier client SDK."""
