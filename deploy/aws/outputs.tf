output "webhook_endpoint" {
  description = "The URL to set as the GitHub App's webhook URL (workflow_job events)."
  value       = module.runners.webhook.endpoint
}

output "runner_role_name" {
  description = "The runners' IAM role (instance profile): the only credentials they have."
  value       = module.runners.runners.role_runner.name
}

output "store_policy_arn" {
  description = "The S3 policy attached to the runners' role."
  value       = aws_iam_policy.camino_store.arn
}

output "runs_on" {
  description = "What camino's workflow puts in runs-on to reach these runners."
  value       = "camino"
}
