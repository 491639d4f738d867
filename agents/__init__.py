"""
The agent runtime: personas, the Ollama client, the decision loop and the
process that logs each agent in over the network and puppets its character.
"""
