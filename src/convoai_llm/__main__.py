from convoai_llm.cli import main

main()
