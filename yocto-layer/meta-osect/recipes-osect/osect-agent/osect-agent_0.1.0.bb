require osect-agent.inc
