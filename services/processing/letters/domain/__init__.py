"""Official letters: an incoming letter, the chain of dispositions that puts it to work, and the
reply that answers it.

A letter clerk registers the letter; the head of office disposes it to officials, each with an
instruction and a deadline no later than the letter's; each official may dispose it further down
(no later than their own deadline), follow it up or close their disposition. A disposition can
be withdrawn by the one who gave it while it is unread. A registered reply closes the letter.
Every step is a method of the letter (`letter.py`) that checks it is allowed and records its
event naming who acted; the rules of a single disposition are in `dispositions.py`.

Only the letter's own clerk, the head of its office and those on its chain act on it, whatever
its confidentiality, and a confidential letter (`terbatas`, `rahasia`) is read only by them; a
read by them is recorded, and so is a refused read or step by anyone else.
"""
