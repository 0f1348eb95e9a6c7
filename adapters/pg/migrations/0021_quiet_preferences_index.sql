-- 0021: the notification sender checks quiet hours for the deliveries it claims, joining each
-- claimed row's customer to their preferences; only customers with quiet hours on can defer one.
CREATE INDEX notification_preferences_quiet ON notification_preferences (customer_id)
  WHERE quiet_enabled;
