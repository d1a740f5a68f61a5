from clinic_assistant.migrations import main

raise SystemExit(main())
