import sys

from courier_chat.app import main

sys.exit(main())
