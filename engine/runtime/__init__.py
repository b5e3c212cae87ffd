"""The SpiffWorkflow runtime: safe BPMN definitions, bounded expressions, the state codec,
form values, and the projection of ready tasks into the task table."""
